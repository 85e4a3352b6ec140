# Every secret comes from a sensitive variable (never a literal here) and reaches the pods as a
# Kubernetes Secret the charts reference by name. Terraform's state holds the values: keep it in
# an encrypted remote backend.

resource "kubernetes_secret_v1" "postgres_admin" {
  metadata {
    name      = "kaizen-postgres-admin"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    "postgres-password" = var.postgres_admin_password
  }
}

# The component roles' passwords, as init-databases.sh reads them.
resource "kubernetes_secret_v1" "db_passwords" {
  metadata {
    name      = "kaizen-db-passwords"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    KAIZEN_SHOP_DB_PASSWORD        = var.db_passwords.shop
    KAIZEN_AIRFLOW_DB_PASSWORD     = var.db_passwords.airflow
    KAIZEN_MLFLOW_DB_PASSWORD      = var.db_passwords.mlflow
    KAIZEN_FEAST_DB_PASSWORD       = var.db_passwords.feast
    KAIZEN_DB_PASSWORD             = var.db_passwords.kaizen
    KAIZEN_SHOP_READER_DB_PASSWORD = var.db_passwords.shop_reader
    KAIZEN_SERVING_DB_PASSWORD     = var.db_passwords.serving
  }
}

# kaizen.config.Settings that carry passwords, for the Airflow pods and the model server.
resource "kubernetes_secret_v1" "kaizen_env" {
  metadata {
    name      = "kaizen-env"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  # Kaizen reads the shop as shop_reader (SELECT only) and writes only to its own database;
  # the model server's login may insert prediction rows there and nothing else.
  data = {
    KAIZEN_SHOP_DB_URL           = "postgresql://shop_reader:${var.db_passwords.shop_reader}@${local.db_host}:${local.db_port}/shop?sslmode=${local.db_sslmode}"
    KAIZEN_DB_URL                = "postgresql://kaizen:${var.db_passwords.kaizen}@${local.db_host}:${local.db_port}/kaizen?sslmode=${local.db_sslmode}"
    KAIZEN_FEAST_DB_URL          = "postgresql://feast:${var.db_passwords.feast}@${local.db_host}:${local.db_port}/feast?sslmode=${local.db_sslmode}"
    KAIZEN_PREDICTION_LOG_DB_URL = "postgresql://serving:${var.db_passwords.serving}@${local.db_host}:${local.db_port}/kaizen?sslmode=${local.db_sslmode}"
    MLFLOW_TRACKING_USERNAME     = var.mlflow_admin.username
    MLFLOW_TRACKING_PASSWORD     = var.mlflow_admin.password
    KAIZEN_ALERT_WEBHOOK_URL     = var.alert_webhook_url
    KAIZEN_AIRFLOW_API_PASSWORD  = var.airflow_secrets.api_password
  }
}

resource "kubernetes_secret_v1" "airflow_metadata" {
  metadata {
    name      = "kaizen-airflow-metadata"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    connection = "postgresql+psycopg2://airflow:${var.db_passwords.airflow}@${local.db_host}:${local.db_port}/airflow?sslmode=${local.db_sslmode}"
  }
}

resource "kubernetes_secret_v1" "airflow_keys" {
  for_each = {
    fernet = { name = "kaizen-airflow-fernet-key", key = "fernet-key", value = var.airflow_secrets.fernet_key }
    api    = { name = "kaizen-airflow-api-secret-key", key = "api-secret-key", value = var.airflow_secrets.api_secret_key }
    jwt    = { name = "kaizen-airflow-jwt-secret", key = "jwt-secret", value = var.airflow_secrets.jwt_secret }
    redis  = { name = "kaizen-airflow-redis-password", key = "password", value = var.airflow_secrets.redis_password }
    broker = { name = "kaizen-airflow-broker-url", key = "connection", value = "redis://:${var.airflow_secrets.redis_password}@${local.airflow_release}-redis:6379/0" }
  }
  metadata {
    name      = each.value.name
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    (each.value.key) = each.value.value
  }
}

resource "kubernetes_secret_v1" "mlflow_db" {
  metadata {
    name      = "kaizen-mlflow-db"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    username = "mlflow"
    password = var.db_passwords.mlflow
  }
}

resource "kubernetes_secret_v1" "mlflow_admin" {
  metadata {
    name      = "kaizen-mlflow-admin"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    username = var.mlflow_admin.username
    password = var.mlflow_admin.password
  }
}

resource "kubernetes_secret_v1" "mlflow_s3" {
  count = var.mlflow_s3 == null ? 0 : 1
  metadata {
    name      = "kaizen-mlflow-s3"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    AWS_ACCESS_KEY_ID     = var.mlflow_s3.access_key_id
    AWS_SECRET_ACCESS_KEY = var.mlflow_s3_secret_access_key
  }
}
