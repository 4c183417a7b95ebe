// Linux Function App on the Flex Consumption plan (FC1), Python 3.13, with a system-assigned identity.
// App settings live in appsettings.bicep, applied once the identity has its roles.

@description('Required. Name of the function app.')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Optional. Azure region of the plan and the app.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the plan and the app.')
param tags object = {}

@description('Required. Name of the storage account that holds the deployment package.')
param storageAccountName string

@description('Required. Blob container of that account that holds the deployment package.')
param deploymentContainerName string

@description('Optional. Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Optional. Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Most HTTP calls one instance runs at once before Flex Consumption adds an instance (Python\'s default is 1; the gateway mostly waits on backends). See docs/deploy.md for how to choose it.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    // checkov:skip=CKV_AZURE_225:Zone redundancy on Flex needs a region with zones and ZRS storage: an opt-in per environment.
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    // checkov:skip=CKV_AZURE_17:Callers authenticate with function keys; certgate presents client certificates to backends, it asks none.
    // checkov:skip=CKV_AZURE_222:certgate is a public gateway: callers reach it over the internet (HTTPS only, TLS 1.2+, function keys).
    // checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero by itself; there is no fixed instance count to set.
    // checkov:skip=CKV_AZURE_213:Flex Consumption does not support the platform health check; GET /health is there for external probes.
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: 'SystemAssigned'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }
}

resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Name of the function app.')
output name string = functionApp.name

@description('Default host name of the function app.')
output defaultHostName string = functionApp.properties.defaultHostName

@description('Principal ID of the app\'s system-assigned identity.')
output principalId string = functionApp.identity.principalId
