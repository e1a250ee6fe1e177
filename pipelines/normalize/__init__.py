"""How emails and phone numbers are normalised: one implementation, called from dbt and Python.

`rules` holds the rules for one value; `arrays` applies them to Arrow columns once per distinct
value; `udfs` registers them on a DuckDB connection (the dbt profile does it through
`dbt_plugin`, so staging calls them as SQL functions), and the exporters call `arrays` from
Polars. An identifier therefore reads the same in identity resolution and in every export.
"""

from pipelines.normalize.rules import country_code, email, phone_e164

__all__ = ["country_code", "email", "phone_e164"]
