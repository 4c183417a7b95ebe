// Parameters for infra/main.bicep. The key ring is a secret: it never goes in this file. It is read from
// the CERTGATE_ENCRYPTION_KEYS environment variable, or given as -p encryptionKeys=... (see docs/deploy.md).
using './main.bicep'

param environmentName = 'dev'

param encryptionKeys = readEnvironmentVariable('CERTGATE_ENCRYPTION_KEYS', '')

param tags = {
  application: 'certgate'
}

param backendTimeoutSeconds = 30
param backendIdleTimeoutSeconds = 120
param configTtlSeconds = 5
param maxUploadBytes = 1048576
param maxGatewayBodyBytes = 104857600
param requestBodySizeLimitBytes = 104857600
param tablePrefix = 'certgate'
param blobContainerName = 'certgate-pfx'
param storageSkuName = 'Standard_LRS'
param maximumInstanceCount = 100
param instanceMemoryMB = 2048
param httpPerInstanceConcurrency = 16
