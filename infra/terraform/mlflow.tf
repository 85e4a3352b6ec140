# MLflow tracking server from community-charts/mlflow: PostgreSQL backend store (the mlflow
# database), basic auth with its user store in the mlflow_auth database, artifacts proxied by the
# server to S3/MinIO (var.mlflow_s3) or to a volume. Service "mlflow", port 5000.

resource "kubernetes_persistent_volume_claim_v1" "mlflow_artifacts" {
  count = var.mlflow_s3 == null ? 1 : 0
  metadata {
    name      = "kaizen-mlflow-artifacts"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  spec {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = var.rwx_storage_class
    resources {
      requests = {
        storage = "20Gi"
      }
    }
  }
  wait_until_bound = false
}

resource "helm_release" "mlflow" {
  name       = "mlflow"
  namespace  = kubernetes_namespace_v1.kaizen.metadata[0].name
  repository = "https://community-charts.github.io/helm-charts"
  chart      = "mlflow"
  version    = var.chart_versions.mlflow
  timeout    = 600
  wait       = true

  values = [
    yamlencode({
      fullnameOverride = "mlflow"
      replicaCount     = var.mlflow_replicas
      image            = { repository = var.mlflow_image.repository, tag = var.mlflow_image.tag }
      service          = { port = local.services["mlflow"].port }
      telemetry        = { enabled = false }

      backendStore = {
        databaseMigration = true
        postgres = {
          enabled  = true
          host     = local.db_host
          port     = local.db_port
          database = "mlflow"
          driver   = "psycopg2"
        }
        existingDatabaseSecret = {
          name        = kubernetes_secret_v1.mlflow_db.metadata[0].name
          usernameKey = "username"
          passwordKey = "password"
        }
      }

      artifactRoot = {
        proxiedArtifactStorage      = true
        defaultArtifactsDestination = "/mlartifacts"
      }

      auth = {
        enabled           = true
        appName           = "basic-auth"
        defaultPermission = "READ"
        existingAdminSecret = {
          name        = kubernetes_secret_v1.mlflow_admin.metadata[0].name
          usernameKey = "username"
          passwordKey = "password"
        }
        postgres = {
          enabled  = true
          host     = local.db_host
          port     = local.db_port
          database = "mlflow_auth"
          driver   = "psycopg2"
          existingSecret = {
            name        = kubernetes_secret_v1.mlflow_db.metadata[0].name
            usernameKey = "username"
            passwordKey = "password"
          }
        }
      }

      extraArgs = {
        workers      = "2"
        allowedHosts = "mlflow:${local.services["mlflow"].port},mlflow.${var.namespace}.svc*,localhost:*,127.0.0.1:*"
      }
      extraEnvVars = { MLFLOW_SERVER_ENABLE_JOB_EXECUTION = "false" }

      readinessProbe = { httpGet = { path = "/health", port = "http" }, periodSeconds = 10 }
      livenessProbe  = { httpGet = { path = "/health", port = "http" }, periodSeconds = 30, failureThreshold = 5 }
    }),
    # Artifacts: S3/MinIO, or the kaizen-mlflow-artifacts volume. (Helm merges the value documents.)
    var.mlflow_s3 == null ? yamlencode({
      extraVolumes      = [{ name = "artifacts", persistentVolumeClaim = { claimName = one(kubernetes_persistent_volume_claim_v1.mlflow_artifacts[*].metadata[0].name) } }]
      extraVolumeMounts = [{ name = "artifacts", mountPath = "/mlartifacts" }]
      }) : yamlencode({
      artifactRoot = {
        s3 = {
          enabled = true
          bucket  = try(var.mlflow_s3.bucket, "")
          existingSecret = {
            name             = one(kubernetes_secret_v1.mlflow_s3[*].metadata[0].name)
            keyOfAccessKeyId = "AWS_ACCESS_KEY_ID"
            #checkov:skip=CKV_SECRET_6:"AWS_SECRET_ACCESS_KEY" is the name of a key in the Secret, not a key
            keyOfSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
          }
        }
      }
      extraEnvVars = merge(
        { MLFLOW_SERVER_ENABLE_JOB_EXECUTION = "false" },
        try(var.mlflow_s3.endpoint_url, null) == null ? {} : { MLFLOW_S3_ENDPOINT_URL = var.mlflow_s3.endpoint_url },
      )
    }),
  ]

  set_sensitive = [
    {
      name  = "flaskServerSecretKey"
      value = var.mlflow_flask_secret_key
    },
  ]

  depends_on = [kubernetes_job_v1.db_init]
}
