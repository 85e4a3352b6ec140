"""Features: the Feast repository over the lake, its online store and training sets."""
