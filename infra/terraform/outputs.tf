output "namespace" {
  description = "Namespace of the Kaizen stack."
  value       = kubernetes_namespace_v1.kaizen.metadata[0].name
}

output "services" {
  description = "In-cluster service names and ports, the same as the embedded stack's and docker compose's."
  value       = local.services
}

output "urls" {
  description = "In-cluster URLs of the services (what KAIZEN_*_URL and MLFLOW_TRACKING_URI hold in the pods)."
  value = {
    airflow      = local.kaizen_env.KAIZEN_AIRFLOW_URL
    mlflow       = local.mlflow_url
    model_server = local.model_server_url
    predictions  = "${local.model_server_url}/api/v1.0/predictions"
  }
}

output "database_host" {
  description = "PostgreSQL server the component databases live on (in-cluster Service or external host)."
  value       = "${local.db_host}:${local.db_port}"
}

output "port_forward" {
  description = "Commands that reach the UIs and the model server from a workstation, on the embedded stack's ports."
  value = [
    "kubectl -n ${var.namespace} port-forward svc/airflow-api-server ${local.services["airflow-api-server"].port}:${local.services["airflow-api-server"].port}",
    "kubectl -n ${var.namespace} port-forward svc/mlflow ${local.services["mlflow"].port}:${local.services["mlflow"].port}",
    "kubectl -n ${var.namespace} port-forward svc/model-server ${local.services["model-server"].port}:${local.services["model-server"].port}",
  ]
}
