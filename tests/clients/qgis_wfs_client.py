"""The planning office's client: QGIS (PyQGIS 3.22, headless) loading WFS 2.0 layers.

Run with Debian's /usr/bin/python3 and QT_QPA_PLATFORM=offscreen:
    qgis_wfs_client.py BASE_URL TYPENAME [TYPENAME ...]
Prints one JSON object: the feature count QGIS reads per feature type (-1: layer invalid).
"""

import json
import os
import sys

from qgis.core import QgsApplication, QgsProject, QgsVectorLayer


def main() -> None:
    base, names = sys.argv[1], sys.argv[2:]
    app = QgsApplication([], False)
    app.initQgis()
    counts = {}
    layers = []
    for name in names:
        uri = (f"url='{base}/wfs' typename='{name}' version='2.0.0' "
               "restrictToRequestBBOX='0' pagingEnabled='true' preferCoordinatesForWfsT11='false'")
        layer = QgsVectorLayer(uri, name, "WFS")
        if not layer.isValid():
            counts[name] = -1
            continue
        counts[name] = sum(1 for _ in layer.getFeatures())
        layers.append(layer)
    for layer in layers:
        QgsProject.instance().addMapLayer(layer)
    print(json.dumps({"counts": counts}), flush=True)
    QgsProject.instance().removeAllMapLayers()
    app.exitQgis()
    os._exit(0)


if __name__ == "__main__":
    main()
