"""Knowledge-update benchmark: people whose home, employer, partner, pets... change over time."""
