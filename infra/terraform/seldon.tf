# The model server: Seldon Core 1's operator (cluster-wide, in seldon-system) and the Kaizen
# SeldonDeployment, whose pods run the kaizen/model-server image (the same microservice compose
# runs) behind Seldon's executor. Seldon Core is under the Business Source License since January
# 2024: production use needs a commercial licence from Seldon.
#
# The SeldonDeployment kind exists only once the operator has installed its CRD, and
# kubernetes_manifest needs it at plan time: the first apply is two-step (see README.md).

resource "helm_release" "seldon_core_operator" {
  name             = "seldon-core"
  namespace        = "seldon-system"
  create_namespace = true
  repository       = "https://storage.googleapis.com/seldon-charts"
  chart            = "seldon-core-operator"
  version          = var.chart_versions.seldon
  timeout          = 600
  wait             = true

  values = [yamlencode({
    usageMetrics = { enabled = false }
    istio        = { enabled = var.seldon_istio_enabled }
    crd          = { create = true }
  })]
}

locals {
  model_server      = local.services["model-server"]
  seldon_deployment = "model-server"
  seldon_predictor  = "default"
}

resource "kubernetes_manifest" "model_server" {
  manifest = {
    apiVersion = "machinelearning.seldon.io/v1"
    kind       = "SeldonDeployment"
    metadata = {
      name      = local.seldon_deployment
      namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
      labels    = local.labels
    }
    spec = {
      protocol = "seldon"
      predictors = [{
        name     = local.seldon_predictor
        replicas = var.model_server_replicas
        graph = {
          name     = "model"
          type     = "MODEL"
          endpoint = { type = "REST" }
        }
        componentSpecs = [{
          spec = {
            securityContext = {
              runAsNonRoot   = true
              runAsUser      = 8888
              seccompProfile = { type = "RuntimeDefault" }
            }
            containers = [{
              name            = "model"
              image           = "${var.model_server_image_repository}:${var.image_tag}"
              imagePullPolicy = "IfNotPresent"
              env = [
                { name = "MLFLOW_TRACKING_URI", value = local.mlflow_url },
                {
                  name      = "MLFLOW_TRACKING_USERNAME"
                  valueFrom = { secretKeyRef = { name = kubernetes_secret_v1.kaizen_env.metadata[0].name, key = "MLFLOW_TRACKING_USERNAME" } }
                },
                {
                  name      = "MLFLOW_TRACKING_PASSWORD"
                  valueFrom = { secretKeyRef = { name = kubernetes_secret_v1.kaizen_env.metadata[0].name, key = "MLFLOW_TRACKING_PASSWORD" } }
                },
                {
                  name      = "KAIZEN_PREDICTION_LOG_DB_URL"
                  valueFrom = { secretKeyRef = { name = kubernetes_secret_v1.kaizen_env.metadata[0].name, key = "KAIZEN_PREDICTION_LOG_DB_URL" } }
                },
                { name = "KAIZEN_FEATURE_SERVER_URL", value = "http://feature-server:${local.feature_server.port}" },
                { name = "KAIZEN_MODEL_NAME", value = var.model_name },
                { name = "KAIZEN_SERVING_POLL_S", value = "5" },
              ]
              resources = {
                requests = { cpu = var.model_server_resources.cpu_request, memory = var.model_server_resources.memory_request }
                limits   = { cpu = var.model_server_resources.cpu_limit, memory = var.model_server_resources.memory_limit }
              }
              securityContext = {
                allowPrivilegeEscalation = false
                readOnlyRootFilesystem   = false # the model class downloads artifacts to a temp dir
                capabilities             = { drop = ["ALL"] }
              }
            }]
          }
        }]
      }]
    }
  }

  depends_on = [helm_release.seldon_core_operator, helm_release.mlflow]
}

# "model-server" with the embedded stack's ports, in front of the predictor's pods: REST 9000
# and gRPC 5001 go through Seldon's executor (8000, 5001), metrics 6000 to the microservice.
resource "kubernetes_service_v1" "model_server" {
  metadata {
    name      = "model-server"
    namespace = kubernetes_namespace_v1.kaizen.metadata[0].name
    labels    = local.labels
    annotations = {
      "prometheus.io/scrape" = "true"
      "prometheus.io/port"   = tostring(local.model_server.metrics_port)
      "prometheus.io/path"   = "/prometheus"
    }
  }
  spec {
    type = "ClusterIP"
    selector = {
      "seldon-app" = "${local.seldon_deployment}-${local.seldon_predictor}"
    }
    port {
      name        = "http"
      port        = local.model_server.port
      target_port = 8000
    }
    port {
      name        = "grpc"
      port        = local.model_server.grpc_port
      target_port = 5001
    }
    port {
      name        = "metrics"
      port        = local.model_server.metrics_port
      target_port = 6000
    }
  }
  depends_on = [kubernetes_manifest.model_server]
}
