/** The cloud instance metadata addresses (AWS, GCP, Azure, and AWS's IPv6 endpoint): credentials live there. */
export const CLOUD_METADATA_IPS: ReadonlySet<string> = new Set(["169.254.169.254", "fd00:ec2::254"]);
