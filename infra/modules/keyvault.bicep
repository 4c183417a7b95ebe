// Key Vault (RBAC, soft delete, purge protection) holding certgate's encryption key ring.

@description('Required. Globally unique name of the vault (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Optional. Azure region of the vault.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the vault.')
param tags object = {}

@description('Required. Name of the secret that holds the key ring.')
param secretName string

@description('Required. The key ring: comma-separated keyId:base64(32 bytes) entries, oldest first; the last one encrypts new files.')
@secure()
param encryptionKeys string

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_109:Without VNet integration the Key Vault reference is resolved over the public endpoint; access is RBAC only.
    // checkov:skip=CKV_AZURE_189:Same as CKV_AZURE_109: the Key Vault reference needs public network access.
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource keyRingSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: keyVault
  name: secretName
  properties: {
    // checkov:skip=CKV_AZURE_41:The key ring is rotated by appending entries (docs/deploy.md); an expiry date would take the app down instead.
    value: encryptionKeys
    contentType: 'text/plain; certgate key ring'
  }
}

@description('Name of the vault.')
output name string = keyVault.name

@description('Name of the key ring secret.')
output secretName string = keyRingSecret.name

@description('Versionless URI of the key ring secret (an address, not the value).')
output secretUri string = keyRingSecret.properties.secretUri
