"""3D city model base data: LoD1.2 building bodies from footprints and DGM/DOM heights.

One module per product: ``rasters`` (the DGM/DOM mosaic), ``heights`` (per-building height
statistics in bulk), ``solids`` (LoD1.2 bodies and their structural checks), ``cityjson``,
``citygml`` and ``bu3d`` (the encoders), ``changes`` (carried forward versions and history),
``planning`` (planned projects), ``citygml_read`` (AdV CityGML as a footprint source) and
``build`` (the step of the dataset run that orders them).
"""
