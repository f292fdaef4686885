"""paper_figures: one script per figure; each reads results/ (never trains) and writes PNG + PDF."""
