"""The app's screens: one per view (plan, workers, issues), plus help and small modals."""
