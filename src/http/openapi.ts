import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySchema, RouteShorthandOptions } from 'fastify';

/**
 * A route's entry in the OpenAPI document at /docs/json: its request body and its answers by status code.
 *
 * The request readers of `processing/` are the one validator, not these schemas: the API's 422 (field
 * paths, "can't be blank" wording, the order of checks, `null` and "" as absent) is what clients match on,
 * and AJV's errors are not it. So the documentation is handed to @fastify/swagger alone, never to Fastify's
 * validator or serializer; test/openapi.test.ts holds each route's schema against real requests and answers.
 */
export interface RouteDocumentation {
  summary: string;
  tags: string[];
  headers?: object;
  body?: object;
  response: Record<number, object>;
}

/**
 * Route options that put `documentation` in the OpenAPI document only. A schema the route gives Fastify
 * itself (a response it serializes with fast-json-stringify) is documented too, and wins for its status.
 */
export function documented(documentation: RouteDocumentation, schema?: FastifySchema): RouteShorthandOptions {
  const { body, response, ...about } = documentation;
  return {
    ...(schema && { schema }),
    config: {
      swaggerTransform: ({ url }) => ({
        url,
        schema: { ...about, ...schema, ...(body && { body }), response: { ...response, ...(schema?.response as object) } },
      }),
    },
  };
}

const text = { type: 'string' };
const fieldErrors = {
  type: 'object',
  additionalProperties: true,
  description: 'Field errors, nested like the request; `base` for the request as a whole',
};
const errorContent = { message: text, errors: fieldErrors };

/** A schema of the document's components (`openapiDocument`), by name: the document states each shape once. */
export const component = (name: string, description?: string) => ({ $ref: `#/components/schemas/${name}`, ...(description && { description }) });

/** Every error of the transaction API, with the `response` mirror older clients read (ApiError.body). */
const errorBody = {
  type: 'object',
  required: ['message', 'response'],
  properties: { ...errorContent, response: { type: 'object', required: ['message'], properties: errorContent } },
};

export const errorAnswer = (description: string) => component('Error', description);

/** The error answers of a route that reads a JSON body, besides its own. */
export const bodyErrors = {
  400: errorAnswer('Malformed JSON, not UTF-8 or nested too deeply'),
  413: errorAnswer('The body is over 64 KB'),
  415: errorAnswer('Content-Type is not application/json'),
};

/** The error answers every merchant route can give besides its own. */
export const merchantErrors = {
  401: errorAnswer('Bad or missing credentials (`Invalid shop_id/secret_key.`)'),
  429: errorAnswer('Rate limit exceeded; see Retry-After'),
  500: errorAnswer("An unexpected fault (`We're sorry, but something went wrong`)"),
  503: errorAnswer('The database cannot be reached for now; see Retry-After'),
};

/**
 * The document's frame; `schemas` are the shared ones the routes name with `component` (the error body is
 * added here). They are JSON Schema as the routes write them, which @fastify/swagger turns into OpenAPI
 * 3.0 (`nullable`) like the routes' own: hence the cast to the plugin's OpenAPI types.
 */
export function openapiDocument(schemas: Record<string, object>): FastifyDynamicSwaggerOptions['openapi'] {
  return {
    info: { title: 'ecomgate processing API', version: '1' },
    components: {
      securitySchemes: { basic: { type: 'http', scheme: 'basic' } },
      schemas: { Error: errorBody, ...schemas },
    },
    security: [{ basic: [] }],
  } as FastifyDynamicSwaggerOptions['openapi'];
}
