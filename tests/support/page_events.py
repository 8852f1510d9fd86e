"""One `metrics` event as the SDK sends it (the page-event and session tests)."""

SAMPLE = {"metrics": {"c1": 0, "c2": 10, "c3": 5, "m1": 0, "m2": 4, "n1": 0, "s1": 0, "n2": 0},
          "peak": "c2", "score": 36, "threshold": 50, "violated": True}
