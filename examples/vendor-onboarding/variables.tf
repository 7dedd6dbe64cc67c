# Inputs. The optional parts are switched on by inputs Terraform knows at
# plan time (a cluster identifier, a bucket name, a flag): give literals or
# values of other resources' arguments, not IDs computed at apply, or
# Terraform reports "Invalid count argument".

# --- The vendor ---------------------------------------------------------------

variable "vendor" {
  description = "The vendor's name in the provider's catalog (data source privatelink_vendor), e.g. \"sigma\". Its account, principal and per-region VPCs come from there, for the provider's region."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.vendor))
    error_message = "The vendor must be a catalog name in lower case, such as \"sigma\" or \"segment\"."
  }
}

variable "vendor_principal_arn" {
  description = "The principal to allow on the endpoint service, when the catalog does not publish it (Segment hands it out through your CSM). Empty: the catalog's."
  type        = string
  default     = ""

  validation {
    condition     = var.vendor_principal_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_-]+|user/[A-Za-z0-9+=,.@_-]+)$", var.vendor_principal_arn))
    error_message = "The vendor_principal_arn must be empty or an IAM ARN without a path: arn:aws:iam::ACCOUNT:root, :role/NAME or :user/NAME."
  }
}

variable "additional_principal_arns" {
  description = "More principals to allow beside the vendor's, e.g. its previous one while it moves to a new one (the catalog's legacy_principal_arn)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.additional_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_-]+|user/[A-Za-z0-9+=,.@_-]+)$", p))])
    error_message = "Each of additional_principal_arns must be an IAM ARN without a path: arn:aws:iam::ACCOUNT:root, :role/NAME or :user/NAME."
  }
}

variable "tags" {
  description = "Tags for everything the module creates that takes tags (the endpoint service, the storage integration's role and policy, the Snowflake endpoint). The module sets Name on the endpoint service (\"<vendor>-privatelink\") and the Snowflake endpoint (\"snowflake\")."
  type        = map(string)
  default     = {}
}

# --- PrivateLink: your service, the vendor's connection ---------------------

variable "endpoint_service_enabled" {
  description = "Publish nlb_arn to the vendor as an endpoint service (the default). False: no endpoint service, e.g. for a Redshift RA3 cluster the vendor reaches through a Redshift-managed endpoint, or only the storage integration."
  type        = bool
  default     = true
}

variable "nlb_arn" {
  description = "ARN of the Network Load Balancer in front of the database the vendor reaches; the endpoint service is created on it. Needed unless endpoint_service_enabled is false."
  type        = string
  default     = ""

  validation {
    condition     = var.nlb_arn == "" || can(regex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/net/[^/]+/[^/]+$", var.nlb_arn))
    error_message = "The nlb_arn must be empty or a Network Load Balancer's ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/net/NAME/ID); PrivateLink serves no other kind."
  }
}

variable "vendor_endpoint_id" {
  description = "The ID of the vendor's VPC endpoint, shown pending acceptance among the service's endpoint connections once the vendor has connected. Empty (the default) until then; set it and apply to accept that connection, and only that one."
  type        = string
  default     = ""

  validation {
    condition     = var.vendor_endpoint_id == "" || can(regex("^vpce-[0-9a-f]{8,17}$", var.vendor_endpoint_id))
    error_message = "The vendor_endpoint_id must be empty or a VPC endpoint ID, vpce- followed by hex digits."
  }
}

# --- Redshift (optional) ------------------------------------------------------

variable "redshift_cluster_identifier" {
  description = "The existing RA3 cluster the vendor reads from (relocation on, port 5431-5455 or 8191-8215). Empty (the default): no Redshift grant."
  type        = string
  default     = ""

  validation {
    condition     = var.redshift_cluster_identifier == "" || (can(regex("^[a-z][a-z0-9-]{0,62}$", var.redshift_cluster_identifier)) && !can(regex("--|-$", var.redshift_cluster_identifier)))
    error_message = "The redshift_cluster_identifier must be empty or a cluster identifier: 1 to 63 lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "redshift_grantee_account" {
  description = "The AWS account to grant, when the catalog does not publish it (Segment's CSM hands out its Edge account ID). Empty (the default): the catalog's."
  type        = string
  default     = ""

  validation {
    condition     = var.redshift_grantee_account == "" || can(regex("^[0-9]{12}$", var.redshift_grantee_account))
    error_message = "The redshift_grantee_account must be empty or a 12-digit AWS account ID."
  }
}

variable "redshift_vpc_id" {
  description = "The vendor's VPC to grant, when the catalog has none for the provider's region (Segment's CSM hands out its Edge VPC ID; Sigma's support gives one for a region outside its table). Empty (the default): the catalog's."
  type        = string
  default     = ""

  validation {
    condition     = var.redshift_vpc_id == "" || can(regex("^vpc-[0-9a-f]{8,17}$", var.redshift_vpc_id))
    error_message = "The redshift_vpc_id must be empty or a VPC ID, vpc- followed by hex digits."
  }
}

variable "redshift_additional_vpc_ids" {
  description = "More of the vendor's VPCs to grant beside the catalog's (or redshift_vpc_id), e.g. while the vendor moves to a new VPC. Removing one the vendor still has an endpoint in fails at apply unless redshift_force_revoke is applied first."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for v in var.redshift_additional_vpc_ids : can(regex("^vpc-[0-9a-f]{8,17}$", v))])
    error_message = "Each of redshift_additional_vpc_ids must be a VPC ID, vpc- followed by hex digits."
  }
}

variable "redshift_force_revoke" {
  description = "When the grant is destroyed, also delete the Redshift-managed endpoints the vendor created with it. False (the default): destroy fails while the vendor still has endpoints; set true and apply before off-boarding."
  type        = bool
  default     = false
}

# --- S3 storage integration (optional, two phases) ----------------------------

variable "bucket" {
  description = "The existing bucket the vendor writes to (checked at plan time). Empty (the default): no storage integration."
  type        = string
  default     = ""

  validation {
    condition     = var.bucket == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "The bucket must be empty or an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "bucket_prefix" {
  description = "The folder in the bucket the vendor may use, without leading or trailing slash. Empty (the default): the vendor's name."
  type        = string
  default     = ""

  validation {
    condition     = var.bucket_prefix == "" || can(regex("^[^/]+(/[^/]+)*$", var.bucket_prefix))
    error_message = "The bucket_prefix must have no leading, trailing or doubled slash, e.g. \"sigma/exports\"."
  }
}

variable "cors_allowed_origins" {
  description = "Origins of the vendor's web app for the bucket's CORS rule. Empty (the default): the origins the catalog publishes for the vendor; a vendor it publishes none for (e.g. Segment, which writes from servers) gets no CORS rule."
  type        = list(string)
  default     = []
}

variable "storage_role_name" {
  description = "Name of the IAM role the vendor assumes to reach the bucket. Empty (the default): \"<vendor>-storage-integration\"."
  type        = string
  default     = ""

  validation {
    condition     = var.storage_role_name == "" || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.storage_role_name))
    error_message = "The storage_role_name must be empty or an IAM role name: up to 64 letters, digits and +=,.@_- characters."
  }
}

variable "vendor_iam_user_arn" {
  description = "Phase two of the storage integration: the IAM user ARN the vendor shows once the role ARN and bucket path are entered in its form. Empty (the default) until then: the role trusts your own account with a placeholder. Set together with external_id."
  type        = string
  default     = ""

  validation {
    condition     = var.vendor_iam_user_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|(user|role)/.+)$", var.vendor_iam_user_arn))
    error_message = "The vendor_iam_user_arn must be empty or the IAM principal ARN the vendor shows: arn:aws:iam::ACCOUNT:user/NAME (or role/NAME, or root)."
  }
}

variable "external_id" {
  description = "Phase two of the storage integration: the external ID the vendor shows beside its IAM user ARN (Sigma labels it \"AWS external role ARN\"). Empty (the default) until then. Set together with vendor_iam_user_arn."
  type        = string
  default     = ""
  # Not a credential (the vendor shows it in its UI), so not sensitive: it
  # stays readable in plans.

  validation {
    # RE2 caps counted repetition at 1000, hence length() for the bounds.
    condition     = var.external_id == "" || (length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.external_id)))
    error_message = "The external_id must be empty or 2 to 1224 letters, digits and +=,.@:/_- characters, as IAM takes it."
  }
}

variable "allowed_source_cidrs" {
  description = "Optional IP allowlist for the storage integration: the vendor's role is denied the objects under the prefix from anywhere else. List the vendor's cluster IPs and your users' office and VPN ranges (their browsers use the vendor's signed URLs). Empty (the default): no allowlist."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_source_cidrs : can(cidrhost(c, 0))])
    error_message = "Each allowed_source_cidrs entry must be a CIDR block, e.g. \"203.0.113.0/24\"."
  }
}

# --- Snowflake (optional) -----------------------------------------------------

variable "snowflake_enabled" {
  description = "Reach the Snowflake account of the provider configuration passed to this module privately: an interface endpoint to the endpoint service Snowflake names, pinned to that account. The provider needs its snowflake block (or SNOWFLAKE_* variables) with a role allowed to pin (ACCOUNTADMIN)."
  type        = bool
  default     = false
}

variable "snowflake_handoff_enabled" {
  description = "Put what the vendor's form asks for to connect through Snowflake's own PrivateLink integration (Sigma's and Segment's Snowflake path) in vendor_handoff.snowflake: the account's endpoint service name (privatelink-vpce-id), PrivateLink account URL and account name, read with SYSTEM$GET_PRIVATELINK_CONFIG. Creates nothing. The provider needs its snowflake block (or SNOWFLAKE_* variables) with ACCOUNTADMIN. On whenever snowflake_enabled is."
  type        = bool
  default     = false
}

variable "snowflake_vpc_id" {
  description = "With snowflake_enabled: the VPC the Snowflake clients run in."
  type        = string
  default     = ""

  validation {
    condition     = var.snowflake_vpc_id == "" || can(regex("^vpc-[0-9a-f]{8,17}$", var.snowflake_vpc_id))
    error_message = "The snowflake_vpc_id must be empty or a VPC ID, vpc- followed by hex digits."
  }
}

variable "snowflake_subnet_ids" {
  description = "With snowflake_enabled: one private subnet of that VPC per Availability Zone Snowflake's endpoint service supports (the provider checks them before creating anything)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.snowflake_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Each snowflake_subnet_ids entry must be a subnet ID, subnet- followed by hex digits."
  }
}

variable "snowflake_pin_delay_minutes" {
  description = "Minutes before Snowflake enforces the pin (0 to 1440), so every account can pin the endpoint first. Only registering uses it: changing it later is recorded without touching Snowflake."
  type        = number
  default     = 60

  validation {
    condition     = var.snowflake_pin_delay_minutes >= 0 && var.snowflake_pin_delay_minutes <= 1440 && floor(var.snowflake_pin_delay_minutes) == var.snowflake_pin_delay_minutes
    error_message = "The snowflake_pin_delay_minutes must be a whole number from 0 to 1440."
  }
}
