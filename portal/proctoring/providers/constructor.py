"""Constructor Proctor (formerly Examus)."""
