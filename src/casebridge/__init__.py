"""casebridge: cooperation between counselling NGOs and security actors, by case and by rule."""
