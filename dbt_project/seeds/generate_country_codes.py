"""Write country_codes.csv: how a country is written in an export -> ISO 3166-1 alpha-2.

From Unicode CLDR as Babel ships it (Babel comes with dbt, through agate): every English
territory name and every three-letter code CLDR maps to one country, plus the short forms
that real exports use and CLDR does not list. Run it again after a Babel upgrade:
`.venv/bin/python dbt_project/seeds/generate_country_codes.py`.
"""

from __future__ import annotations

import csv
from pathlib import Path

from babel import Locale
from babel.core import get_global

# Forms seen in real exports that CLDR's English names and codes do not cover.
SHORT_FORMS = {
    "EIRE": "IE", "RSA": "ZA", "KOREA": "KR", "CZECH REPUBLIC": "CZ", "TURKEY": "TR",
    "HOLLAND": "NL", "GREAT BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB",
    "NORTHERN IRELAND": "GB", "HONG KONG": "HK", "MACAO": "MO", "MACAU": "MO",
    "UNITED STATES OF AMERICA": "US", "IVORY COAST": "CI", "SWAZILAND": "SZ", "BURMA": "MM",
    "PALESTINE": "PS", "VATICAN": "VA", "UAE": "AE",
}  # fmt: skip


def rows() -> dict[str, str]:
    names = {
        code: name for code, name in Locale("en").territories.items()
        if len(code) == 2 and code.isalpha() and code not in ("ZZ", "EU", "EZ", "UN", "QO")
    }
    out = {name.upper(): code for code, name in names.items()}
    for alias, codes in get_global("territory_aliases").items():
        if len(codes) == 1 and codes[0] in names and alias.isalpha() and len(alias) in (2, 3):
            out.setdefault(alias.upper(), codes[0])
    out.update(SHORT_FORMS)
    return dict(sorted(out.items()))


if __name__ == "__main__":
    path = Path(__file__).with_name("country_codes.csv")
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["country", "country_code"])
        writer.writerows(rows().items())
    print(f"{path}: {len(rows())} rows")
