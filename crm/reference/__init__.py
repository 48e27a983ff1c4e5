"""Reference data every domain shares: prefectures, countries, fiscal years."""
