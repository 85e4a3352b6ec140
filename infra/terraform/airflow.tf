# Airflow 3 from its official chart, with the kaizen/airflow image (DAGs and the kaizen package
# baked in). Components: api-server, scheduler, dag-processor, triggerer, and Celery workers
# (Redis broker from the chart) or one pod per task with the KubernetesExecutor.

resource "helm_release" "airflow" {
  name       = local.airflow_release
  namespace  = kubernetes_namespace_v1.kaizen.metadata[0].name
  repository = "https://airflow.apache.org"
  chart      = "airflow"
  version    = var.chart_versions.airflow
  timeout    = 900
  wait       = true

  values = [yamlencode({
    airflowVersion           = "3.3.2"
    defaultAirflowRepository = var.airflow_image_repository
    defaultAirflowTag        = var.image_tag
    images = {
      airflow = { repository = var.airflow_image_repository, tag = var.image_tag, pullPolicy = "IfNotPresent" }
    }
    executor   = var.airflow_executor
    uid        = 50000
    gid        = 0
    postgresql = { enabled = false }
    pgbouncer  = { enabled = false }

    data                   = { metadataSecretName = kubernetes_secret_v1.airflow_metadata.metadata[0].name, brokerUrlSecretName = kubernetes_secret_v1.airflow_keys["broker"].metadata[0].name }
    fernetKeySecretName    = kubernetes_secret_v1.airflow_keys["fernet"].metadata[0].name
    apiSecretKeySecretName = kubernetes_secret_v1.airflow_keys["api"].metadata[0].name
    jwtSecretName          = kubernetes_secret_v1.airflow_keys["jwt"].metadata[0].name

    redis = {
      enabled            = var.airflow_executor == "CeleryExecutor"
      passwordSecretName = kubernetes_secret_v1.airflow_keys["redis"].metadata[0].name
    }

    config = {
      core = {
        auth_manager                = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
        load_examples               = "False"
        dags_are_paused_at_creation = var.start_paused ? "True" : "False" # KAIZEN_START_PAUSED
        parallelism                 = tostring(var.airflow_parallelism)
        execution_api_server_url    = "http://${local.airflow_release}-api-server:${local.services["airflow-api-server"].port}/execution/"
      }
      celery    = { worker_concurrency = tostring(var.airflow_workers.concurrency) }
      scheduler = { enable_health_check = "True" }
      metrics   = { statsd_on = "True", statsd_prefix = "airflow" }
    }

    createUserJob = {
      defaultUser = {
        enabled   = true
        role      = "Admin"
        username  = "admin"
        email     = "admin@example.org"
        firstName = "Kaizen"
        lastName  = "Admin"
      }
    }

    ports        = { apiServer = local.services["airflow-api-server"].port }
    apiServer    = { replicas = 1 }
    dagProcessor = { enabled = true }
    triggerer    = { enabled = true }
    statsd       = { enabled = true }

    workers = {
      replicas = var.airflow_workers.replicas
      keda = {
        enabled         = var.airflow_workers.keda_enabled
        minReplicaCount = 1
        maxReplicaCount = var.airflow_workers.keda_max
      }
      persistence = { enabled = false }
    }

    # Settings of every Airflow container: kaizen.config.Settings, the shared lake; its volume's
    # handover/ directory holds the partner bundles (KAIZEN_HANDOVER_DIR).
    env = [for name, value in local.kaizen_env : { name = name, value = value }]
    secret = [for key in ["KAIZEN_SHOP_DB_URL", "KAIZEN_DB_URL", "KAIZEN_FEAST_DB_URL", "MLFLOW_TRACKING_PASSWORD", "KAIZEN_ALERT_WEBHOOK_URL", "KAIZEN_AIRFLOW_API_PASSWORD"] : {
      envName    = key
      secretName = kubernetes_secret_v1.kaizen_env.metadata[0].name
      secretKey  = key
    }]
    volumes      = [{ name = "lake", persistentVolumeClaim = { claimName = kubernetes_persistent_volume_claim_v1.lake.metadata[0].name } }]
    volumeMounts = [
      { name = "lake", mountPath = local.lake_dir },
      { name = "lake", mountPath = local.handover_dir, subPath = "handover" },
    ]
  })]

  # The admin's password reaches the chart's create-user job only.
  set_sensitive = [
    {
      name  = "createUserJob.defaultUser.password"
      value = var.airflow_secrets.admin_password
    },
  ]

  depends_on = [kubernetes_job_v1.db_init]
}

# What the chart's jobs do not make: the API user tasks write their outcome (the run's note) as
# (role User, DAG runs only; the chart's create-user job makes the admin alone) and the pool of
# one slot every task that moves @champion runs in. The image's airflow-user and airflow-pools
# scripts, as compose's airflow-init runs them, with the password in the environment, not in args.
resource "kubernetes_job_v1" "airflow_setup" {
  #checkov:skip=CKV_K8S_43:the kaizen/airflow image is built for each deployment (infra/docker); image_tag may carry a digest (tag@sha256:...)
  #checkov:skip=CKV_K8S_22:airflow writes its home (logs, pid files) when it starts
  metadata {
    # A new name with each image, so that an apply re-runs it (and sets a rotated password again).
    name      = "kaizen-airflow-setup-${substr(sha256(var.image_tag), 0, 8)}"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  spec {
    backoff_limit              = 6
    ttl_seconds_after_finished = 86400
    template {
      metadata {
        labels = local.labels
      }
      spec {
        restart_policy                  = "OnFailure"
        automount_service_account_token = false
        security_context {
          run_as_non_root = true
          run_as_user     = 50000 # the airflow user of the image
          run_as_group    = 0
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name              = "airflow-setup"
          image             = "${var.airflow_image_repository}:${var.image_tag}"
          image_pull_policy = "Always"
          command           = ["bash", "-c", "/opt/kaizen/bin/airflow-user kaizen User && /opt/kaizen/bin/airflow-pools"]
          env {
            name  = "AIRFLOW__CORE__AUTH_MANAGER"
            value = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
          }
          env {
            name = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.airflow_metadata.metadata[0].name
                key  = "connection"
              }
            }
          }
          env {
            name = "AIRFLOW_USER_PASSWORD"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.kaizen_env.metadata[0].name
                key  = "KAIZEN_AIRFLOW_API_PASSWORD"
              }
            }
          }
          resources {
            requests = { cpu = "100m", memory = "256Mi" }
            limits   = { cpu = "1", memory = "1Gi" }
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = false
            privileged                 = false
            run_as_non_root            = true
            capabilities {
              drop = ["ALL"]
            }
          }
        }
      }
    }
  }
  wait_for_completion = true
  timeouts {
    create = "10m"
    update = "10m"
  }
  depends_on = [helm_release.airflow]
}
