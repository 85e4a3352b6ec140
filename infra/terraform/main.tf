locals {
  # Service names and ports shared with the embedded stack (`kaizen up`) and docker-compose.yml;
  # tests/test_infra.py keeps the three in step. Airflow's chart, released as "airflow", names
  # its services airflow-api-server, airflow-scheduler, airflow-dag-processor, airflow-triggerer.
  airflow_release = "airflow"
  services = {
    "postgres"              = { port = 5432 }
    "mlflow"                = { port = 5000 }
    "airflow-api-server"    = { port = 8080 }
    "airflow-scheduler"     = {}
    "airflow-dag-processor" = {}
    "airflow-triggerer"     = {}
    "model-server"          = { port = 9000, grpc_port = 5001, metrics_port = 6000 }
    "feature-server"        = { port = 6566 } # Feast's feature server (feature_server.tf)
  }

  db_host    = var.external_database == null ? "postgres" : var.external_database.host
  db_port    = var.external_database == null ? local.services["postgres"].port : var.external_database.port
  db_sslmode = var.external_database == null ? "disable" : var.external_database.sslmode

  mlflow_url       = "http://mlflow:${local.services["mlflow"].port}"
  model_server_url = "http://model-server:${local.services["model-server"].port}"
  lake_dir         = "/opt/kaizen/lake"
  handover_dir     = "/opt/kaizen/handover"

  # kaizen.config.Settings of every Airflow pod and the model server, as in docker-compose.yml.
  # The ones with passwords are in the kaizen-env Secret (secrets.tf).
  kaizen_env = {
    KAIZEN_HOME                          = "/opt/airflow/kaizen"
    KAIZEN_LAKE_DIR                      = local.lake_dir
    KAIZEN_HANDOVER_DIR                  = local.handover_dir
    KAIZEN_MODEL_NAME                    = var.model_name
    KAIZEN_EXPERIMENT                    = var.model_name
    MLFLOW_TRACKING_URI                  = local.mlflow_url
    MLFLOW_TRACKING_USERNAME             = nonsensitive(var.mlflow_admin.username)
    KAIZEN_MODEL_SERVER_URL              = local.model_server_url
    KAIZEN_AIRFLOW_URL                   = "http://airflow-api-server:${local.services["airflow-api-server"].port}"
    KAIZEN_START_PAUSED                  = tostring(var.start_paused)
    KAIZEN_AIRFLOW_API_USER              = "kaizen"
    # MLflow's INFO lines reach the task log at INFO, not through stderr (shown as ERROR).
    MLFLOW_CONFIGURE_LOGGING             = "false"
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR = "false"
  }

  labels = {
    "app.kubernetes.io/part-of"    = "kaizen"
    "app.kubernetes.io/managed-by" = "terraform"
  }
}

resource "kubernetes_namespace_v1" "kaizen" {
  metadata {
    name   = var.namespace
    labels = local.labels
  }
}

# The Parquet lake (KAIZEN_LAKE_DIR): written by the ingest and feature tasks, read by training,
# on whichever worker runs them, so every Airflow pod mounts the same ReadWriteMany volume.
resource "kubernetes_persistent_volume_claim_v1" "lake" {
  metadata {
    name      = "kaizen-lake"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  spec {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = var.rwx_storage_class
    resources {
      requests = {
        storage = var.lake_storage_size
      }
    }
  }
  wait_until_bound = false
}
