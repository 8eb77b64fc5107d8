/**
 * S3's XML bodies for the local endpoint: error documents, operation results, and the request
 * bodies clients send (CompleteMultipartUpload, DeleteObjects), with fast-xml-parser.
 * Source: Amazon S3 API Reference ("Error responses", each operation's response syntax).
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** The S3 XML namespace of result documents. */
export const s3Namespace = 'http://s3.amazonaws.com/doc/2006-03-01/';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });
const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, trimValues: true, isArray: (name) => name === 'Part' || name === 'Object' });

/** An XML value: text, a nested element, or a list of repeated elements. */
export type XmlValue = string | number | boolean | null | XmlElement | XmlElement[] | string[];
export interface XmlElement {
  [name: string]: XmlValue | undefined;
}

/** A whole XML document whose root is `root` (with S3's namespace unless `namespaced` is false). */
export function xmlDocument(root: string, body: XmlElement, namespaced = true): string {
  const element = namespaced ? { '@_xmlns': s3Namespace, ...body } : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: element }) as string}`;
}

/** An XML response with S3's content type. */
export function xmlResponse(status: number, root: string, body: XmlElement, headers: Record<string, string> = {}): Response {
  return new Response(xmlDocument(root, body), { status, headers: { 'content-type': 'application/xml', ...headers } });
}

/** S3's error document: `<Error><Code/><Message/>…<RequestId/></Error>`. */
export function xmlError(status: number, code: string, message: string, requestId: string, extra: Record<string, string> = {}): Response {
  const body = xmlDocument('Error', { Code: code, Message: message, ...extra, RequestId: requestId }, false);
  return new Response(body, { status, headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId } });
}

/** Parses a request body; null when it is not well-formed XML. */
export function parseXml(text: string): Record<string, unknown> | null {
  try {
    const parsed = parser.parse(text, true) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
