"""The names of the content step's formats and campaign goals (one place; light to import)."""

FORMATS: tuple[str, ...] = (
    "email_subject", "email_preview", "email_body", "meta_primary_text", "meta_headline",
    "meta_description", "google_headline", "google_description", "social_post", "product_copy",
    "blog_outline", "sales_sheet",
)  # fmt: skip
GOALS: tuple[str, ...] = ("winback", "retention", "launch", "promotion", "acquisition")
