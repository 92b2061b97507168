"""Publishing a built site: a git branch push, or a GitHub Actions workflow."""
from sitegen.deploy.ghpages import DeployError, DeployResult, DeploySettings, deploy, preflight
from sitegen.deploy.workflow import PAGES_WORKFLOW, render_workflow, write_workflow

__all__ = [
    "PAGES_WORKFLOW",
    "DeployError",
    "DeployResult",
    "DeploySettings",
    "deploy",
    "preflight",
    "render_workflow",
    "write_workflow",
]
