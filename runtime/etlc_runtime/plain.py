"""One rule for turning a computed value into plain JSON data: a metric, a check's example
row, an operator's result (XCom, the task result, `etlc run`'s summary, MLflow).

JSON has no NaN, infinity, decimal, date or library scalar, so: null, NaN, NaT and ±inf
become ``None``; numpy, pandas and Arrow scalars become Python ones; decimals become floats
(a metric is a measurement, and MLflow takes floats); dates and times become ISO 8601 text;
lists, tuples and mappings are converted item by item; anything else becomes its ``str``.
No dataframe library is imported here (pandas' missing-value test is used only when pandas
is already loaded, which a pandas value implies).
"""

from __future__ import annotations

import decimal
import math
import sys
from collections.abc import Mapping
from typing import Any


def _missing(value: Any) -> bool:
    pd = sys.modules.get("pandas")
    if pd is None:
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError, ArithmeticError):
        return False


def plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return None if not value.is_finite() else plain(float(value))
    if hasattr(value, "as_py"):          # an Arrow scalar
        value = value.as_py()
    elif _missing(value):
        return None
    elif hasattr(value, "item"):         # a numpy scalar
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return plain(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
