terraform {
  # optional() object attributes and the Helm provider 3 syntax need Terraform 1.3+; tested
  # syntax with 1.11.
  required_version = ">= 1.6.0"

  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.36"
    }
  }
}
