"""The benchmark behind `make bench`: the daily run stage by stage, against bare engines."""
