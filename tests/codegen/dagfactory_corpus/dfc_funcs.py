"""Functions the dag-factory corpus names (copied to the test project's root)."""


def make_list():
    return [[1], [2], [3]]


def add_one(x, step=1):
    return x + step


def notify(context):
    return None
