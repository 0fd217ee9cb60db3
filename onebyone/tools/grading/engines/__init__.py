"""How submissions reach warm workers and their results come back: the engine interface and its
shared loop (engine.py), the local pool with its hub and workers (pool.py, hub.py, worker.py),
the Dask engine (cluster.py, cluster_worker.py, zygote.py). Apart because they are the process
model; grading one submission (runner.py) knows none of them."""
