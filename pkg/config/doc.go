// Package config reads ddconn's settings from the environment, once, into a
// typed Config. It is the only package that looks at environment variables;
// the AWS SDK reads its own (AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER, …).
package config
