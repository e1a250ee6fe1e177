"""The daily HTML report for people: what the data says today and what to do next."""
