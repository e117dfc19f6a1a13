"""The planning office's client: QGIS (PyQGIS 3.22, headless) against the running services.

Run with Debian's /usr/bin/python3 and QT_QPA_PLATFORM=offscreen (PyQGIS is built for it):
    qgis_client.py BASE_URL OUT_PNG COLLECTION [COLLECTION ...]
Prints one JSON object: feature counts per OGC API collection, WMS validity, the PNG path.
PyQGIS 3.22 crashes at interpreter exit unless layers are removed first and the process
ends with os._exit.
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def main() -> None:
    base, out_png, collections = sys.argv[1], sys.argv[2], sys.argv[3:]
    app = QgsApplication([], False)
    app.initQgis()
    result = {"counts": {}}
    project = QgsProject.instance()
    vectors = []
    for name in collections:
        uri = f"url='{base}/ogcapi' typename='{name}' restrictToRequestBBOX='0'"
        layer = QgsVectorLayer(uri, name, "oapif")
        if not layer.isValid():
            result["counts"][name] = -1
            continue
        result["counts"][name] = sum(1 for _ in layer.getFeatures())
        vectors.append(layer)
    wms = QgsRasterLayer(
        f"crs=EPSG:25832&format=image/png&layers=LU.ExistingLandUse&styles=&url={base}/wms",
        "Spielplätze (WMS)", "wms")
    result["wms_valid"] = wms.isValid()
    for layer in [wms, *vectors]:
        project.addMapLayer(layer)
    settings = QgsMapSettings()
    settings.setLayers([wms] if wms.isValid() else vectors)
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:25832"))
    settings.setExtent(QgsRectangle(560000, 5772000, 570000, 5781000))
    settings.setOutputSize(QSize(512, 512))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(out_png, "png")
    result["png"] = out_png
    print(json.dumps(result), flush=True)
    project.removeAllMapLayers()
    os._exit(0)


if __name__ == "__main__":
    main()
