"""illudex: index folders of illustrations where they lie."""
__version__ = "0.1.0"
