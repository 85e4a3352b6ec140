# --- cluster ---------------------------------------------------------------------------------

variable "kubeconfig_path" {
  type        = string
  description = "Path of the kubeconfig file Terraform uses to reach the cluster."
  default     = "~/.kube/config"
}

variable "kube_context" {
  type        = string
  description = "kubeconfig context to use; null means the file's current context."
  default     = null
}

variable "namespace" {
  type        = string
  description = "Namespace of the Kaizen stack (Airflow, MLflow, PostgreSQL, the model server)."
  default     = "kaizen"
}

# --- images and charts -----------------------------------------------------------------------

variable "image_tag" {
  type        = string
  description = "Tag of the kaizen/airflow and kaizen/model-server images (built from infra/docker/, as docker compose builds them)."
  default     = "0.1.0"
}

variable "airflow_image_repository" {
  type        = string
  description = "Repository of the Airflow image built from infra/docker/airflow.Dockerfile, pushed where the cluster can pull it."
  default     = "kaizen/airflow"
}

variable "model_server_image_repository" {
  type        = string
  description = "Repository of the model server image built from infra/docker/model-server.Dockerfile."
  default     = "kaizen/model-server"
}

variable "mlflow_image" {
  type = object({
    repository = string
    tag        = string
  })
  description = "MLflow server image for the community-charts/mlflow chart (its default image family, with psycopg2, boto3 and basic auth); keep the tag at the MLflow version of requirements/orchestration.lock."
  default = {
    repository = "burakince/mlflow"
    tag        = "3.17.2"
  }
}

variable "chart_versions" {
  type = object({
    airflow    = string
    mlflow     = string
    seldon     = string
    postgresql = string
  })
  description = "Pinned Helm chart versions: apache-airflow/airflow, community-charts/mlflow, seldon-charts/seldon-core-operator, bitnamicharts/postgresql."
  default = {
    airflow    = "1.22.0"
    mlflow     = "1.8.1"
    seldon     = "1.18.2"
    postgresql = "18.7.5"
  }
}

# --- PostgreSQL ------------------------------------------------------------------------------

variable "external_database" {
  type = object({
    host       = string
    port       = optional(number, 5432)
    admin_user = optional(string, "postgres")
    sslmode    = optional(string, "require")
  })
  description = "An existing PostgreSQL server (e.g. a managed one) to provision the component databases on; null runs bitnami/postgresql in the cluster."
  default     = null
}

variable "postgresql_image_repository" {
  type        = string
  description = "PostgreSQL image of the in-cluster server. Bitnami's free images moved to bitnamilegacy/ in 2025."
  default     = "bitnamilegacy/postgresql"
}

variable "postgresql_storage_size" {
  type        = string
  description = "Volume size of the in-cluster PostgreSQL server."
  default     = "20Gi"
}

variable "postgres_admin_password" {
  type        = string
  description = "Password of the PostgreSQL superuser: of the in-cluster server, or external_database.admin_user's. Used by the kaizen-db-init Job only."
  sensitive   = true

  validation {
    condition     = length(var.postgres_admin_password) >= 16
    error_message = "postgres_admin_password needs 16 or more characters; it may not be empty."
  }
}

variable "db_passwords" {
  type = object({
    shop        = string
    airflow     = string
    mlflow      = string
    feast       = string
    kaizen      = string
    shop_reader = string
    serving     = string
  })
  description = "Password of each least-privilege role (infra/postgres/init-databases.sh): the component databases' owners, shop_reader (Kaizen's SELECT-only login to the shop) and serving (inserts prediction rows). Hex strings: they are embedded in connection URLs."
  sensitive   = true

  validation {
    condition     = alltrue([for p in values(var.db_passwords) : length(p) >= 16 && can(regex("^[A-Za-z0-9_-]+$", p))])
    error_message = "Each database password needs 16+ characters from [A-Za-z0-9_-] (it goes into URLs unescaped)."
  }
}

# --- Airflow ---------------------------------------------------------------------------------

variable "airflow_executor" {
  type        = string
  description = "CeleryExecutor (a pool of worker pods fed through Redis) or KubernetesExecutor (one pod per task)."
  default     = "CeleryExecutor"

  validation {
    condition     = contains(["CeleryExecutor", "KubernetesExecutor"], var.airflow_executor)
    error_message = "airflow_executor must be CeleryExecutor or KubernetesExecutor."
  }
}

variable "airflow_workers" {
  type = object({
    replicas     = number
    concurrency  = number
    keda_enabled = bool
    keda_max     = number
  })
  description = "Celery workers: fixed replicas, task slots per worker, or KEDA autoscaling on queued tasks (needs KEDA in the cluster)."
  default = {
    replicas     = 2
    concurrency  = 4
    keda_enabled = false
    keda_max     = 10
  }
}

variable "airflow_parallelism" {
  type        = number
  description = "Task slots of the whole scheduler ([core] parallelism); at least workers x concurrency to use them all."
  default     = 16
}

variable "airflow_secrets" {
  type = object({
    fernet_key     = string
    api_secret_key = string
    jwt_secret     = string
    admin_password = string
    api_password   = string
    redis_password = string
  })
  description = "Airflow's Fernet key (urlsafe base64 of 32 bytes), [api] secret_key, [api_auth] jwt_secret, the admin user's password, the password of the API user tasks write run notes as (KAIZEN_AIRFLOW_API_PASSWORD) and the Celery broker's Redis password."
  sensitive   = true

  # An empty Fernet key stores connections in clear, an empty JWT secret lets anyone mint tokens,
  # an empty Redis password opens the broker.
  validation {
    condition     = alltrue([for name, value in var.airflow_secrets : length(value) >= 16])
    error_message = "Every airflow_secrets value needs 16 or more characters; none may be empty."
  }
  validation {
    condition     = length(var.airflow_secrets.fernet_key) == 44 && can(base64decode(replace(replace(var.airflow_secrets.fernet_key, "-", "+"), "_", "/")))
    error_message = "airflow_secrets.fernet_key must be a Fernet key: urlsafe base64 of 32 bytes (44 characters)."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.airflow_secrets.redis_password))
    error_message = "airflow_secrets.redis_password may use [A-Za-z0-9_-] only: it goes into the broker URL unescaped."
  }
}

# --- MLflow ----------------------------------------------------------------------------------

variable "mlflow_replicas" {
  type        = number
  description = "MLflow server replicas; more than one needs S3 artifacts (mlflow_s3) or a ReadWriteMany storage class."
  default     = 1
}

variable "mlflow_admin" {
  type = object({
    username = string
    password = string
  })
  description = "MLflow basic-auth admin, created on first start; Airflow and the model server use it (MLFLOW_TRACKING_USERNAME/PASSWORD)."
  sensitive   = true

  validation {
    condition     = length(var.mlflow_admin.password) >= 12
    error_message = "MLflow refuses admin passwords shorter than 12 characters."
  }
}

variable "mlflow_flask_secret_key" {
  type        = string
  description = "MLFLOW_FLASK_SERVER_SECRET_KEY: CSRF protection of the basic-auth app, the same for every replica."
  sensitive   = true

  validation {
    condition     = length(var.mlflow_flask_secret_key) >= 16
    error_message = "mlflow_flask_secret_key needs 16 or more characters; it may not be empty."
  }
}

variable "mlflow_s3" {
  type = object({
    bucket        = string
    endpoint_url  = optional(string)
    access_key_id = string
  })
  description = "S3 (or MinIO: set endpoint_url) bucket for MLflow's artifacts, proxied by the server; null keeps them on a volume."
  default     = null
}

variable "mlflow_s3_secret_access_key" {
  type        = string
  description = "Secret access key of mlflow_s3.access_key_id (unused when mlflow_s3 is null)."
  default     = ""
  sensitive   = true
}

# --- shared storage and serving --------------------------------------------------------------

variable "rwx_storage_class" {
  type        = string
  description = "A ReadWriteMany storage class (NFS, EFS, Filestore, Azure Files...) for the Parquet lake every Airflow worker shares, and MLflow's artifacts without S3; null uses the cluster default, which must then support ReadWriteMany."
  default     = null
}

variable "lake_storage_size" {
  type        = string
  description = "Size of the Parquet lake volume (KAIZEN_LAKE_DIR)."
  default     = "50Gi"
}

variable "model_name" {
  type        = string
  description = "Registered model the model server follows (KAIZEN_MODEL_NAME, its @champion)."
  default     = "kaizen-recommender"
}

variable "model_server_replicas" {
  type        = number
  description = "Replicas of the SeldonDeployment's predictor; each polls MLflow and serves @champion from memory."
  default     = 2
}

variable "model_server_resources" {
  type = object({
    cpu_request    = string
    memory_request = string
    cpu_limit      = string
    memory_limit   = string
  })
  description = "Requests and limits of one model server container."
  default = {
    cpu_request    = "250m"
    memory_request = "512Mi"
    cpu_limit      = "1"
    memory_limit   = "1Gi"
  }
}

variable "seldon_istio_enabled" {
  type        = bool
  description = "Let Seldon's operator create Istio VirtualServices (canary/shadow traffic); needs Istio in the cluster."
  default     = false
}

variable "start_paused" {
  type        = bool
  description = "Create the DAGs paused (KAIZEN_START_PAUSED); by default the nightly chain runs at once."
  default     = false
}

variable "alert_webhook_url" {
  type        = string
  description = "Slack-compatible webhook for alerts (KAIZEN_ALERT_WEBHOOK_URL): failed runs, rollbacks, drift, quality drops. Empty: the task logs only."
  default     = ""
  sensitive   = true
}
