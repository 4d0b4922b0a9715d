"""The dask engine's parts (engines/dask_engine.py is the engine): cluster.py (where work
runs), read.py (partitioned reads), transform.py (a step's transforms), quality.py (checks
and metrics), write.py (writes and staging through the commit protocol)."""
