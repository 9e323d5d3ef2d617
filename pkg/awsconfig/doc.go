// Package awsconfig is the AWS SDK configuration every ddconn client is
// built from: the region, the credentials, the standard retryer and the
// endpoint overrides, resolved once by Load.
//
// ddconn's functions run on Lambda, which puts everything in the
// environment: AWS_REGION, and the execution role's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Load reads exactly those,
// plus AWS_ENDPOINT_URL and the service-specific AWS_ENDPOINT_URL_<SERVICE>
// (honoured by the service clients, as with the SDK's own loader), instead
// of the SDK's config package: that loader's shared-config, SSO, STS and
// IMDS support is never used on Lambda, and its packages' initialisers
// were a measurable part of every cold start (docs/benchmarks.md).
// Profiles, AWS_CA_BUNDLE and the other settings of the shared config
// files are therefore not read.
//
// StaticCredentials swaps the environment's keys for fixed dummy keys: the
// local stand-ins accept any signature, and tests must not find real keys.
package awsconfig
