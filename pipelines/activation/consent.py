"""Who may be in which platform's file, as pure functions over the customer frame.

Each platform has an ordered list of reasons to hold a person back; a person is counted under
the first that applies, so the counts by reason add up to everyone held back. A missing consent
signal (null) counts as no consent: nobody reaches an ad platform on an unknown.

- everywhere: an erasure request (`is_erased`, from the suppression store).
- Mailchimp: no email, unsubscribed, cleaned, an email Mailchimp would reject, no email consent
  (`is_emailable`); of two people with one email, only the first.
- Meta and Google: a CCPA opt-out of sale or sharing; in the EEA (and the UK and Switzerland,
  which Google's EU user consent policy also covers) both `ad_user_data` and
  `ad_personalization` consent are needed; everyone needs ad consent (`ad_storage_consent`); and
  a row needs an email or phone to match on.
- CRM: a HubSpot record id to update.
- The site (the personalisation lookup, `site/lookup.*`): the same EU rule as the ad platforms
  (in the EEA, the UK and Switzerland `ad_personalization` consent is needed, the one
  personalisation signal Consent Mode records), and everyone needs the banner's yes to storage
  on their device (`ad_storage_consent`), since the lookup ties the site's stored identifier
  to the person. A CCPA opt-out is no bar: the shop personalising its own site with its own
  data is neither a sale nor cross-context sharing.
"""

from __future__ import annotations

import polars as pl

from pipelines.activation.normalize import VALID_EMAIL

EMAIL_PLATFORMS = ("mailchimp",)
AD_PLATFORMS = ("meta", "google")
CRM_PLATFORMS = ("crm",)
SITE_PLATFORMS = ("site",)
# Where Google's EU user consent policy applies beyond the EEA flag.
EU_CONSENT_COUNTRIES_OUTSIDE_EEA = ("GB", "CH")

# Columns of `marts.dim_customers` each platform's rules read (besides the prepared
# `email_norm`, `phone_norm` and `is_erased` that `export.prepare_customers` adds).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "mailchimp": ("email", "first_name", "last_name", "mailchimp_status", "is_emailable"),
    "meta": (
        "email",
        "first_name",
        "last_name",
        "city",
        "region_code",
        "zip",
        "country_code",
        "is_eea",
        "ad_storage_consent",
        "ad_user_data_consent",
        "ad_personalization_consent",
        "ccpa_opt_out",
    ),
    "google": (
        "email",
        "first_name",
        "last_name",
        "zip",
        "country_code",
        "is_eea",
        "ad_storage_consent",
        "ad_user_data_consent",
        "ad_personalization_consent",
        "ccpa_opt_out",
    ),
    "crm": ("hubspot_record_id",),
    "site": ("email", "country_code", "is_eea", "ad_storage_consent",
             "ad_personalization_consent"),
}


def _yes(column: str) -> pl.Expr:
    """True only where the signal says yes; null is no."""
    return pl.col(column).fill_null(False)


def suppression_rules(platform: str) -> list[tuple[str, pl.Expr]]:
    """`(reason, condition)` pairs for `platform`, in the order they are counted."""
    rules: list[tuple[str, pl.Expr]] = [("erasure_request", _yes("is_erased"))]
    if platform in EMAIL_PLATFORMS:
        email, status = pl.col("email_norm"), pl.col("mailchimp_status")
        return [
            *rules,
            ("no_email", email.is_null()),
            ("unsubscribed", status.fill_null("") == "unsubscribed"),
            ("cleaned", status.fill_null("") == "cleaned"),
            ("invalid_email", ~email.str.contains(VALID_EMAIL)),
            ("no_email_consent", ~_yes("is_emailable")),
        ]
    eu_rules = pl.col("is_eea").fill_null(True) | pl.col("country_code").cast(
        pl.String
    ).str.to_uppercase().is_in(EU_CONSENT_COUNTRIES_OUTSIDE_EEA).fill_null(False)
    if platform in AD_PLATFORMS:
        both = _yes("ad_user_data_consent") & _yes("ad_personalization_consent")
        return [
            *rules,
            ("ccpa_opt_out", pl.col("ccpa_opt_out").fill_null(True)),
            ("eea_without_consent", eu_rules & ~both),
            ("no_ad_consent", ~_yes("ad_storage_consent")),
            ("no_email_or_phone", pl.col("email_norm").is_null() & pl.col("phone_norm").is_null()),
        ]
    if platform in CRM_PLATFORMS:
        record = pl.col("hubspot_record_id").cast(pl.String).str.strip_chars()
        return [*rules, ("no_record_id", record.is_null() | (record == ""))]
    if platform in SITE_PLATFORMS:
        return [
            *rules,
            ("eea_without_consent", eu_rules & ~_yes("ad_personalization_consent")),
            ("no_storage_consent", ~_yes("ad_storage_consent")),
        ]
    raise ValueError(f"no consent rules for platform {platform!r}")


def apply_consent(members: pl.DataFrame, platform: str) -> tuple[pl.DataFrame, dict[str, int]]:
    """The members `platform` may receive, and how many were held back by reason.

    `members` is sorted by `customer_key` first, so that of two rows with one email the same one
    is kept on every run.
    """
    rules = suppression_rules(platform)
    reason = pl.when(rules[0][1]).then(pl.lit(rules[0][0]))
    for name, condition in rules[1:]:
        reason = reason.when(condition).then(pl.lit(name))
    tagged = members.sort("customer_key").with_columns(
        reason.otherwise(pl.lit(None, dtype=pl.String)).alias("_suppressed_for")
    )
    counts = dict(tagged.get_column("_suppressed_for").drop_nulls().value_counts().iter_rows())
    ordered = {name: int(counts[name]) for name, _ in rules if counts.get(name)}
    allowed = tagged.filter(pl.col("_suppressed_for").is_null()).drop("_suppressed_for")
    if platform in EMAIL_PLATFORMS:
        # Mailchimp keys its audience on the email: of two people with one email, the first
        # (by customer_key) is sent.
        unique = allowed.unique(subset="email_norm", keep="first", maintain_order=True)
        if unique.height < allowed.height:
            ordered["duplicate_email"] = allowed.height - unique.height
        allowed = unique
    return allowed, ordered
