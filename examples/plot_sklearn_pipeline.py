"""
scikit-learn: an AM-trained network in a Pipeline and a grid search
===================================================================

:class:`amref.sklearn.AMClassifier` trains an MLP with any amref solver, chosen by name, and exposes it
as a scikit-learn estimator. Here mDLAM (no gradients: every block is a closed form or a projected
step) trains inside a ``Pipeline`` after a ``StandardScaler``, and ``GridSearchCV`` picks the hidden
activation — including the binary step, which gradient methods cannot train — and mDLAM's penalty ρ by
cross-validation on scikit-learn's 8×8 digits. The solver's options are ordinary estimator parameters.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from amref.sklearn import AMClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

pipe = make_pipeline(StandardScaler(), AMClassifier(solver="mdlam", hidden_layer_sizes=(64,), max_iter=30,
                                                    random_state=0))
grid = {"amclassifier__activation": ["relu", "hardtanh", "step"], "amclassifier__rho": [1e-3, 1e-2]}
search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
print("best:", search.best_params_, f"cv accuracy {search.best_score_:.3f}",
      f"test accuracy {search.score(X_test, y_test):.3f}")

# %%
# Cross-validated accuracy of every activation and ρ.

res = search.cv_results_
acts, rhos = grid["amclassifier__activation"], grid["amclassifier__rho"]
score = {(p["amclassifier__activation"], p["amclassifier__rho"]): s
         for p, s in zip(res["params"], res["mean_test_score"])}
scores = np.array([[score[a, r] for r in rhos] for a in acts])
fig, ax = plt.subplots(figsize=(5, 3))
for k, r in enumerate(rhos):
    ax.bar(np.arange(len(acts)) + 0.4 * k, scores[:, k], width=0.4, label=f"ρ = {r:g}")
ax.set_xticks(np.arange(len(acts)) + 0.2, acts)
ax.set(ylabel="cross-validated accuracy", ylim=(0, 1), title="mDLAM in a scikit-learn grid search")
ax.legend()
fig.tight_layout()
plt.show()
