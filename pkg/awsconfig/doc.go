// Package awsconfig is the AWS SDK configuration every ddconn client is
// built from: the region, the credentials and the standard retryer, loaded
// once by Load.
//
// Region and credentials follow the SDK's own chain (AWS_REGION, the shared
// config files, the Lambda execution role) unless Options overrides them.
// StaticCredentials swaps the chain for fixed dummy keys: the local
// stand-ins accept any signature, and tests must not find real keys.
//
// Load deliberately takes no HTTP client. The SDK's loader applies
// AWS_CA_BUNDLE to the client it builds itself and fails on a client it
// cannot modify, so adapters set their *http.Client on the service client
// instead (see secretstore.New and eventbus.New).
package awsconfig
