/** The demo shops every gateway started with demo shops has (ECOMGATE_DEMO_SHOPS=1), with their public credentials. */
export const DEMO_SHOP = { id: 361, secret: 'b8647b68898b084b836474ed8d61ffe117c9a01168d867f24953b776ddcb134d' };
export const DEMO_3DS_SHOP = { id: 362, secret: '9ad8ad735945919845b9a1996af72d886ab43d3375502256dbf8dd16bca59a4e' };
