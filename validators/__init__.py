"""Outside validators: tools nobody here wrote check what the stacks would apply.

``python -m validators --stack dev`` (or ``make validate``); see README "Outside validators".
Modules: k8s_schemas (kubernetes-validate, strict), kubeflow_models (Kubeflow's published models),
crds (structural schemas for the other CRDs), pods (CRD pod templates as Pods), checkov_runner and
parliament_runner (each in its own virtualenv, see envs), report (how findings are printed).
"""
