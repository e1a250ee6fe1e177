"""Ad optimisation: what the ads converted, what each KPI says, where the next dollar goes."""
