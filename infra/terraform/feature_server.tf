# Feast's feature server (feast serve, `kaizen feature-server`) over the feature store's
# database: the model server loads every servable item's availability and category from it.
# The kaizen/airflow image and command of docker compose's feature-server; only the feature
# store's login reaches it. Its readiness is an online read, not feast serve's /health (which
# stays 200 without the online store).

locals {
  feature_server        = local.services["feature-server"]
  feature_server_labels = { "app.kubernetes.io/name" = "feature-server" }
}

resource "kubernetes_deployment_v1" "feature_server" {
  #checkov:skip=CKV_K8S_43:the kaizen/airflow image is built for each deployment (infra/docker); image_tag may carry a digest (tag@sha256:...)
  metadata {
    name      = "feature-server"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = merge(local.labels, local.feature_server_labels)
  }
  spec {
    replicas = 1
    selector {
      match_labels = local.feature_server_labels
    }
    template {
      metadata {
        labels = merge(local.labels, local.feature_server_labels)
      }
      spec {
        automount_service_account_token = false
        security_context {
          run_as_non_root = true
          run_as_user     = 50000
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name              = "feast"
          image             = "${var.airflow_image_repository}:${var.image_tag}"
          image_pull_policy = "Always"
          command           = ["python", "-m", "kaizen", "feature-server"]
          env {
            name  = "KAIZEN_HOME"
            value = "/tmp/kaizen"
          }
          env {
            name  = "KAIZEN_HOST"
            value = "0.0.0.0"
          }
          env {
            name = "KAIZEN_FEAST_DB_URL"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.kaizen_env.metadata[0].name
                key  = "KAIZEN_FEAST_DB_URL"
              }
            }
          }
          port {
            name           = "http"
            container_port = local.feature_server.port
          }
          readiness_probe {
            exec {
              command = ["python", "-m", "kaizen.features.health", "http://127.0.0.1:${local.feature_server.port}"]
            }
            period_seconds  = 10
            timeout_seconds = 5
          }
          liveness_probe {
            http_get {
              path = "/health"
              port = "http"
            }
            period_seconds    = 30
            failure_threshold = 5
          }
          resources {
            requests = { cpu = "250m", memory = "512Mi" }
            limits   = { cpu = "1", memory = "1Gi" }
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }
          volume_mount {
            name       = "tmp" # feature_store.yaml, rendered at start from the settings
            mount_path = "/tmp"
          }
        }
        volume {
          name = "tmp"
          empty_dir {}
        }
      }
    }
  }

  depends_on = [kubernetes_job_v1.db_init]
}

resource "kubernetes_service_v1" "feature_server" {
  metadata {
    name      = "feature-server"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  spec {
    type     = "ClusterIP"
    selector = local.feature_server_labels
    port {
      name        = "http"
      port        = local.feature_server.port
      target_port = "http"
    }
  }
}
