"""One module per document type, each exporting ``DOCTYPE`` (see :mod:`.contract`).

:mod:`.registry` lists them; a type module imports only the contract and the text toolkit
(:mod:`pipeline.read.text`), never another type. Adding a type = one module and one line in the
registry.
"""
