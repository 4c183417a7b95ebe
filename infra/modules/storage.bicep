// Storage account for the Functions host (blob + queue), certgate's tables and encrypted PFX blobs,
// and the Flex Consumption deployment package. Shared keys are off: identities only.

@description('Required. Globally unique name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Optional. Azure region of the account.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the account.')
param tags object = {}

@description('Optional. Replication of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Required. Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Required. Blob container in which certgate keeps the encrypted PFX files.')
param pfxContainerName string

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    // checkov:skip=CKV_AZURE_35:No VNet integration, so the app reaches storage over the public endpoint; Entra ID only (no shared keys).
    // checkov:skip=CKV_AZURE_59:Same as CKV_AZURE_35: the function app has no private network path to the account.
    // checkov:skip=CKV_AZURE_206:Replication is the skuName parameter: LRS by default, ZRS/GRS/GZRS per environment.
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource pfxContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: pfxContainerName
  properties: {
    publicAccess: 'None'
  }
}

@description('Name of the storage account.')
output name string = storageAccount.name

@description('Blob endpoint of the storage account.')
output blobEndpoint string = storageAccount.properties.primaryEndpoints.blob
