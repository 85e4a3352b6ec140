# PostgreSQL: bitnami/postgresql in the cluster (Service "postgres"), or var.external_database.
# Either way the kaizen-db-init Job runs infra/postgres/init-databases.sh, the script compose's
# postgres container runs: one database and one least-privilege role per component.

resource "helm_release" "postgresql" {
  count      = var.external_database == null ? 1 : 0
  name       = "postgres"
  namespace  = kubernetes_namespace_v1.kaizen.metadata[0].name
  repository = "oci://registry-1.docker.io/bitnamicharts"
  chart      = "postgresql"
  version    = var.chart_versions.postgresql
  wait       = true
  timeout    = 600

  values = [yamlencode({
    fullnameOverride = "postgres"
    image            = { repository = var.postgresql_image_repository }
    global           = { security = { allowInsecureImages = true } } # images outside bitnami/
    auth = {
      enablePostgresUser = true
      existingSecret     = kubernetes_secret_v1.postgres_admin.metadata[0].name
      #checkov:skip=CKV_SECRET_6:"postgres-password" is the name of a key in the Secret, not a password
      secretKeys = { adminPasswordKey = "postgres-password" }
    }
    primary = {
      service     = { ports = { postgresql = local.services["postgres"].port } }
      persistence = { enabled = true, size = var.postgresql_storage_size }
    }
  })]
}

resource "kubernetes_config_map_v1" "db_init" {
  metadata {
    name      = "kaizen-db-init"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
  }
  data = {
    "init-databases.sh" = file("${path.module}/../postgres/init-databases.sh")
  }
}

resource "kubernetes_job_v1" "db_init" {
  metadata {
    # A new name when the script changes, so that an apply re-runs it.
    name      = "kaizen-db-init-${substr(sha256(kubernetes_config_map_v1.db_init.data["init-databases.sh"]), 0, 8)}"
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
          run_as_user     = 999 # the postgres user of the postgres image
          run_as_group    = 999
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name              = "init-databases"
          image             = "postgres:15-bookworm"
          image_pull_policy = "Always"
          command           = ["bash", "/scripts/init-databases.sh"]
          env {
            name  = "PGHOST"
            value = local.db_host
          }
          env {
            name  = "PGPORT"
            value = tostring(local.db_port)
          }
          env {
            name  = "PGUSER"
            value = var.external_database == null ? "postgres" : var.external_database.admin_user
          }
          env {
            name  = "PGSSLMODE"
            value = local.db_sslmode
          }
          env {
            name = "PGPASSWORD"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.postgres_admin.metadata[0].name
                key  = "postgres-password"
              }
            }
          }
          env_from {
            secret_ref {
              name = kubernetes_secret_v1.db_passwords.metadata[0].name
            }
          }
          resources {
            requests = { cpu = "50m", memory = "64Mi" }
            limits   = { cpu = "500m", memory = "128Mi" }
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            privileged                 = false
            run_as_non_root            = true
            capabilities {
              drop = ["ALL"]
            }
          }
          volume_mount {
            name       = "scripts"
            mount_path = "/scripts"
            read_only  = true
          }
        }
        volume {
          name = "scripts"
          config_map {
            name = kubernetes_config_map_v1.db_init.metadata[0].name
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
  depends_on = [helm_release.postgresql]
}
