/**
 * Tool `manage_storage` (API.md §13 → §7: /storage/{app}/upload, /download/{id}, /objects,
 * DELETE /storage/{app}/{id}; update_config → PATCH /v1/{app}/config/storage). Each action is the
 * same REST call an SDK makes, so answers and errors are the REST ones (camelCase, as the wire is).
 */
import { z } from 'zod';
import { storageFields } from '../../shared/schemas/config.ts';
import { contentTypeField, filenameField, sizeBytesField } from '../../shared/schemas/storage.ts';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const manageStorage = defineTool({
  name: 'manage_storage',
  title: 'Manage storage',
  description:
    'Files of an app: presigned upload and download URLs, listing, deleting, and the app\'s storage settings. Actions: ' +
    'upload_url (filename, content_type, size_bytes, public?) → { uploadUrl, objectId, objectKey, expiresIn: 300, _meta.resource_info }; ' +
    'then PUT the bytes to uploadUrl with exactly that Content-Type and size (both are signed: anything else gets 403), and store objectId in your table. ' +
    'download_url (object_id) → { downloadUrl, filename, expiresIn: 3600 } (the URL honours Range and names the file). ' +
    'list → { objects: [...] } newest first, at most 100. delete (object_id) removes the bytes and the record (clear references first). ' +
    'update_config (publicReadEnabled, storageLimitBytes, maxFileSizeMb, allowedContentTypes such as ["image/*"]). ' +
    'objectId is the stable handle; objectKey is metadata, never a URL. Files are private unless public: true or publicReadEnabled; ' +
    'objects a caller may not see answer 404. Errors: QUOTA_FILE_SIZE_EXCEEDED, VALIDATION_INVALID_TYPE, QUOTA_STORAGE_EXCEEDED, RESOURCE_NOT_FOUND.',
  input: z.object({
    action: z.enum(['upload_url', 'download_url', 'list', 'delete', 'update_config']).describe('What to do.'),
    app_id: appId,
    filename: filenameField.optional().describe('upload_url: the file name (kept as is in the record; the key gets a sanitized copy).'),
    content_type: contentTypeField.optional().describe('upload_url: the MIME type the PUT will send, e.g. "image/png".'),
    size_bytes: sizeBytesField.optional().describe('upload_url: the exact file size in bytes.'),
    public: z.boolean().optional().describe('upload_url: anyone (even anonymous) may get a download URL for it. Default false.'),
    object_id: z.string().min(1).max(100).optional().describe('download_url / delete: the objectId from upload_url or list (not the objectKey).'),
    publicReadEnabled: storageFields.shape.publicReadEnabled.describe('update_config: any signed-in user of the app may download any file.'),
    storageLimitBytes: storageFields.shape.storageLimitBytes.describe('update_config: the app\'s total storage quota in bytes (default 1 GiB, plan cap 10 GiB).'),
    maxFileSizeMb: storageFields.shape.maxFileSizeMb.describe('update_config: the largest file in MB (default 10, at most 5120).'),
    allowedContentTypes: storageFields.shape.allowedContentTypes.describe('update_config: the MIME types uploads may have, e.g. ["image/*", "application/pdf"] (default ["*/*"]).'),
  }).strict(),
  requires: {
    upload_url: ['filename', 'content_type', 'size_bytes'],
    download_url: ['object_id'],
    delete: ['object_id'],
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async run(args, { platform }) {
    const tool = `manage_storage.${args.action}`;
    const app = segment(args.app_id);
    switch (args.action) {
      case 'upload_url':
        return restResult(await platform.call({
          method: 'POST', path: `/storage/${app}/upload`, tool,
          body: { filename: args.filename, contentType: args.content_type, sizeBytes: args.size_bytes, public: args.public ?? false },
        }));
      case 'download_url':
        return restResult(await platform.call({ method: 'GET', path: `/storage/${app}/download/${segment(args.object_id!)}`, tool }));
      case 'list':
        return restResult(await platform.call({ method: 'GET', path: `/storage/${app}/objects`, tool }));
      case 'delete':
        return restResult(await platform.call({ method: 'DELETE', path: `/storage/${app}/${segment(args.object_id!)}`, tool }));
      case 'update_config':
        return restResult(await platform.call({
          method: 'PATCH', path: `/v1/${app}/config/storage`, tool,
          body: {
            publicReadEnabled: args.publicReadEnabled,
            storageLimitBytes: args.storageLimitBytes,
            maxFileSizeMb: args.maxFileSizeMb,
            allowedContentTypes: args.allowedContentTypes,
          },
        }));
    }
  },
});
