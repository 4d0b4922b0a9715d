"""The embedding function of specs/docs_vectors_qdrant.yaml (a ``call`` step): user code, as a
pipeline's workers would install it (put ``examples/`` on ``PYTHONPATH``)."""
