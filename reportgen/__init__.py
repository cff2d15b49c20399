"""reportgen: train the DermaMNIST study's CNN and publish its results as a static site."""

__version__ = "0.1.0"
