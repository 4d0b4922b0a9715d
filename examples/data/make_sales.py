"""Write examples/data/sales.csv: 200 deterministic demo sales rows for specs/demo_sales.yaml.

Run from anywhere: python examples/data/make_sales.py. The output is the same bytes every time
(a fixed random seed, no clock), so the committed file and a regenerated one never differ.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

ROWS = 200
REGIONS = ["north", "south", "east", "west"]
CHANNELS = ["web", "store", "phone"]
PRODUCTS = {  # product -> (category, unit price)
    "espresso_beans": ("coffee", "18.50"),
    "decaf_beans": ("coffee", "17.00"),
    "green_tea": ("tea", "9.90"),
    "black_tea": ("tea", "8.40"),
    "french_press": ("equipment", "34.00"),
    "grinder": ("equipment", "89.00"),
    "kettle": ("equipment", "45.50"),
    "mug": ("accessories", "12.00"),
    "filters": ("accessories", "4.75"),
}


def rows(seed: int = 20250101):
    rng = random.Random(seed)
    start = dt.date(2025, 1, 1)
    names = sorted(PRODUCTS)
    for i in range(1, ROWS + 1):
        product = rng.choice(names)
        category, price = PRODUCTS[product]
        quantity = rng.choice([1, 1, 1, 2, 2, 3, 4, 6])
        if i % 67 == 0:
            quantity = 0  # a few bad rows that the pipeline filters out
        discount = rng.choice(["0", "0", "0", "0.05", "0.1", "0.15"])
        yield {
            "order_id": 1000 + i,
            "order_date": (start + dt.timedelta(days=rng.randrange(0, 90))).isoformat(),
            "region": rng.choice(REGIONS),
            "channel": rng.choice(CHANNELS),
            "product": product,
            "category": category,
            "quantity": quantity,
            "unit_price": price,
            "discount": discount,
            "customer": "" if i % 41 == 0 else f"c{rng.randrange(1, 60):03d}",
        }


def main() -> None:
    out = Path(__file__).with_name("sales.csv")
    data = list(rows())
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(data[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)


if __name__ == "__main__":
    main()
