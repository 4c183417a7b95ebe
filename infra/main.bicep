// certgate: an mTLS gateway on Azure Functions (Flex Consumption, Python 3.13).
// Deploy: az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam -p encryptionKeys=...
targetScope = 'resourceGroup'

@description('Required. Short name of the environment (e.g. dev, prod); names and tags derive from it.')
@minLength(1)
@maxLength(32)
param environmentName string

@description('Optional. Azure region of every resource.')
param location string = resourceGroup().location

@description('Optional. Tags applied to every resource.')
param tags object = {}

@description('Required. The key ring stored in Key Vault: comma-separated keyId:base64(32 random bytes) entries, oldest first; the last one encrypts new files.')
@secure()
@minLength(36)
param encryptionKeys string

@description('Optional. Seconds certgate waits for a backend (CERTGATE_BACKEND_TIMEOUT_SECONDS).')
@minValue(1)
param backendTimeoutSeconds int = 30

@description('Optional. Seconds certgate caches configuration (CERTGATE_CONFIG_TTL_SECONDS).')
@minValue(1)
param configTtlSeconds int = 5

@description('Optional. Largest accepted certificate upload in bytes (CERTGATE_MAX_UPLOAD_BYTES).')
@minValue(1)
param maxUploadBytes int = 1048576

@description('Optional. Longest silence between two body chunks of a backend\'s answer, in seconds, before certgate cuts the call (CERTGATE_BACKEND_IDLE_TIMEOUT_SECONDS).')
@minValue(1)
param backendIdleTimeoutSeconds int = 120

@description('Optional. Largest request body the gateway forwards in bytes, enforced while streaming (CERTGATE_MAX_GATEWAY_BODY_BYTES).')
@minValue(1)
param maxGatewayBodyBytes int = 104857600

@description('Optional. The Functions host\'s own request body limit in bytes (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT); keep it at least maxGatewayBodyBytes.')
@minValue(1)
param requestBodySizeLimitBytes int = 104857600

@description('Optional. Prefix of certgate\'s table names (CERTGATE_TABLE_PREFIX).')
@minLength(1)
@maxLength(40)
param tablePrefix string = 'certgate'

@description('Optional. Blob container of the encrypted PFX files (CERTGATE_BLOB_CONTAINER).')
@minLength(3)
@maxLength(63)
param blobContainerName string = 'certgate-pfx'

@description('Optional. Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Optional. Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Optional. Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Most HTTP calls one Flex Consumption instance runs at once before another instance is added (Python\'s default is 1). Chosen by measurement: see docs/deploy.md.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Optional. Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Optional. E-mail address certgate\'s alerts notify (certificate expiry, backend TLS errors); empty creates the action group without an e-mail receiver. See docs/operations.md.')
param alertEmail string = ''

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var functionAppName = 'func-certgate-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var keyRingSecretName = 'certgate-encryption-keys'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    environmentName: environmentName
    location: location
    tags: allTags
    alertEmail: alertEmail
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: allTags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    pfxContainerName: blobContainerName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: allTags
    secretName: keyRingSecretName
    encryptionKeys: encryptionKeys
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionApp'
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: union(allTags, {
      'azd-service-name': 'api'
    })
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
  }
}

module roleAssignments 'modules/roleassignments.bicep' = {
  name: 'roleAssignments'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    secretName: keyVault.outputs.secretName
  }
}

module appSettings 'modules/appsettings.bicep' = {
  name: 'appSettings'
  params: {
    functionAppName: functionApp.outputs.name
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyRingSecretUri: keyVault.outputs.secretUri
    backendTimeoutSeconds: backendTimeoutSeconds
    backendIdleTimeoutSeconds: backendIdleTimeoutSeconds
    configTtlSeconds: configTtlSeconds
    maxUploadBytes: maxUploadBytes
    maxGatewayBodyBytes: maxGatewayBodyBytes
    requestBodySizeLimitBytes: requestBodySizeLimitBytes
    tablePrefix: tablePrefix
    blobContainerName: blobContainerName
  }
  dependsOn: [
    roleAssignments
  ]
}

@description('Name of the function app (for func azure functionapp publish).')
output functionAppName string = functionApp.outputs.name

@description('Default host name of the function app.')
output functionAppHostName string = functionApp.outputs.defaultHostName

@description('Resource group of the deployment.')
output resourceGroupName string = resourceGroup().name

@description('Name of the storage account.')
output storageAccountName string = storage.outputs.name

@description('Name of the Key Vault that holds the key ring.')
output keyVaultName string = keyVault.outputs.name
